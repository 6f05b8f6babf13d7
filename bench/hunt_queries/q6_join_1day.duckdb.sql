SELECT count(*) AS Count
FROM (SELECT DeviceId, ProcessId FROM p
      WHERE Timestamp >= TIMESTAMP '2025-01-08 00:00:00' AND Timestamp < TIMESTAMP '2025-01-09 00:00:00') a
JOIN (SELECT DeviceId, InitiatingProcessId FROM n
      WHERE Timestamp >= TIMESTAMP '2025-01-08 00:00:00' AND Timestamp < TIMESTAMP '2025-01-09 00:00:00') b
  ON a.DeviceId = b.DeviceId AND a.ProcessId = b.InitiatingProcessId;
