-- approximate (HyperLogLog), as KQL's dcount is
SELECT time_bucket(INTERVAL 1 hour, Timestamp) AS Timestamp, approx_count_distinct(AccountName) AS dcount_AccountName
FROM p GROUP BY 1;
