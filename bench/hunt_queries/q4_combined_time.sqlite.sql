-- 17364672000000000 ticks = 2025-01-10T00:00:00Z
SELECT DeviceName, count(*) AS count_ FROM p
WHERE Timestamp > 17364672000000000 AND FileName = 'powershell.exe' AND ProcessCommandLine LIKE '%-enc%'
GROUP BY DeviceName ORDER BY count_ DESC, DeviceName LIMIT 10;
