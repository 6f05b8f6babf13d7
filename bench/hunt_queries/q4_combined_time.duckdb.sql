SELECT DeviceName, count(*) AS count_ FROM p
WHERE Timestamp > TIMESTAMP '2025-01-10 00:00:00' AND FileName = 'powershell.exe' AND ProcessCommandLine ILIKE '%-enc%'
GROUP BY DeviceName ORDER BY count_ DESC, DeviceName LIMIT 10;
