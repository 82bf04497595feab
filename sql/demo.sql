-- Demo data: three concerts.  Loaded only into an empty database
-- (scripts/mysql checks).
-- 1 (the default concert, what a request without concertId means): 7
--   dates from tomorrow on, 50 seats each, three price tiers.
-- 2 and 3: other concerts playing on some of the same days (a date is
--   (concert, day)), with their own seats, prices and waiting lines.
INSERT INTO concerts (id, title, venue) VALUES
  (1, 'Concert nights', 'Seoul Arts Center'),
  (2, 'Stadium Live', 'Olympic Stadium'),
  (3, 'Jazz at the Club', 'Blue Note Seoul')
ON DUPLICATE KEY UPDATE title = VALUES(title), venue = VALUES(venue);

INSERT IGNORE INTO concert_dates (concert_id, concert_date, title)
SELECT 1, DATE(UTC_TIMESTAMP()) + INTERVAL d DAY, CONCAT('Concert night ', d)
FROM (SELECT 1 AS d UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
      UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7) days;
INSERT IGNORE INTO concert_dates (concert_id, concert_date, title)
SELECT 2, DATE(UTC_TIMESTAMP()) + INTERVAL d DAY, CONCAT('Stadium Live day ', d)
FROM (SELECT 2 AS d UNION ALL SELECT 3) days;
INSERT IGNORE INTO concert_dates (concert_id, concert_date, title)
SELECT 3, DATE(UTC_TIMESTAMP()) + INTERVAL d DAY, CONCAT('Jazz night ', d)
FROM (SELECT 1 AS d UNION ALL SELECT 4 UNION ALL SELECT 6) days;

INSERT IGNORE INTO seats (concert_id, concert_date, seat_number, price)
SELECT cd.concert_id, cd.concert_date, n.seq,
       CASE WHEN n.seq <= 10 THEN 150000 WHEN n.seq <= 30 THEN 100000 ELSE 50000 END
FROM concert_dates cd JOIN seq_1_to_50 n
WHERE cd.concert_id = 1;
INSERT IGNORE INTO seats (concert_id, concert_date, seat_number, price)
SELECT cd.concert_id, cd.concert_date, n.seq,
       CASE WHEN n.seq <= 20 THEN 220000 WHEN n.seq <= 100 THEN 160000 ELSE 90000 END
FROM concert_dates cd JOIN seq_1_to_200 n
WHERE cd.concert_id = 2;
INSERT IGNORE INTO seats (concert_id, concert_date, seat_number, price)
SELECT cd.concert_id, cd.concert_date, n.seq, 70000
FROM concert_dates cd JOIN seq_1_to_30 n
WHERE cd.concert_id = 3;
