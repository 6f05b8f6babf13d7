-- 17362944000000000 ticks = 2025-01-08T00:00:00Z, 17363808000000000 = 2025-01-09T00:00:00Z
SELECT count(*) AS Count
FROM (SELECT DeviceId, ProcessId FROM p
      WHERE Timestamp >= 17362944000000000 AND Timestamp < 17363808000000000) a
JOIN (SELECT DeviceId, InitiatingProcessId FROM n
      WHERE Timestamp >= 17362944000000000 AND Timestamp < 17363808000000000) b
  ON a.DeviceId = b.DeviceId AND a.ProcessId = b.InitiatingProcessId;
