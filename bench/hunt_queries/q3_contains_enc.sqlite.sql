-- LIKE is case-insensitive for ASCII in SQLite (case_sensitive_like is off)
SELECT count(*) AS Count FROM p WHERE ProcessCommandLine LIKE '%-enc%';
