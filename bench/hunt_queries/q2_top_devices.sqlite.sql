SELECT DeviceName, count(*) AS count_ FROM p GROUP BY DeviceName ORDER BY count_ DESC, DeviceName LIMIT 10;
