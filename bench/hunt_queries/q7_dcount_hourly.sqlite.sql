-- exact; 36000000000 ticks = 1 hour
SELECT strftime('%Y-%m-%dT%H:%M:%SZ', Timestamp / 36000000000 * 3600, 'unixepoch') AS Timestamp,
       count(DISTINCT AccountName) AS dcount_AccountName
FROM p GROUP BY Timestamp / 36000000000;
