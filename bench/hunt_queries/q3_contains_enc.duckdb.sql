SELECT count(*) AS Count FROM p WHERE ProcessCommandLine ILIKE '%-enc%';
