-- Demo data: 7 concert dates from tomorrow on, 50 seats each, three price
-- tiers.  Loaded only into an empty database (scripts/mysql checks).
INSERT IGNORE INTO concert_dates (concert_date, title)
SELECT DATE(UTC_TIMESTAMP()) + INTERVAL d DAY, CONCAT('Concert night ', d)
FROM (SELECT 1 AS d UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
      UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7) days;

INSERT IGNORE INTO seats (concert_date, seat_number, price)
SELECT cd.concert_date, n.n,
       CASE WHEN n.n <= 10 THEN 150000 WHEN n.n <= 30 THEN 100000 ELSE 50000 END
FROM concert_dates cd
JOIN (SELECT a.i * 10 + b.i + 1 AS n
      FROM (SELECT 0 i UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3
            UNION ALL SELECT 4) a
      CROSS JOIN (SELECT 0 i UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3
            UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7
            UNION ALL SELECT 8 UNION ALL SELECT 9) b) n;
