-- Demo data: three concerts.  Loaded only into an empty database
-- (scripts/mysql checks).
-- 1 (the default concert, what a request without concertId means): 7
--   dates from tomorrow on, 50 seats each, three price tiers, no sections
--   or grades (the brief's seat map).
-- 2 and 3: other concerts playing on some of the same days (a date is
--   (concert, day)), with their own sections, grades (VIP/R/S/A) and
--   prices, and their own waiting lines.  Concert 2 is a stadium: its
--   first date has 50,000 seats in 50 sections of 1,000.
INSERT INTO concerts (id, title, venue) VALUES
  (1, 'Concert nights', 'Seoul Arts Center'),
  (2, 'Stadium Live', 'Olympic Stadium'),
  (3, 'Jazz at the Club', 'Blue Note Seoul')
ON DUPLICATE KEY UPDATE title = VALUES(title), venue = VALUES(venue);

INSERT IGNORE INTO concert_grades (concert_id, grade, price) VALUES
  (2, 'VIP', 220000), (2, 'R', 165000), (2, 'S', 132000), (2, 'A', 99000),
  (3, 'VIP', 120000), (3, 'R', 90000), (3, 'S', 70000);

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

-- The stadium: 50 sections (S01..S50) of 1,000 seats on its first date,
-- 2 sections of 500 on its second; sections 1-2 VIP, 3-10 R, 11-25 S,
-- the rest A.  The price charged is the grade's.
INSERT IGNORE INTO seats (concert_id, concert_date, seat_number, section, grade, price)
SELECT x.concert_id, x.concert_date, x.n, x.section, x.grade, g.price
FROM (SELECT cd.concert_id, cd.concert_date, n.seq AS n,
             CONCAT('S', LPAD((n.seq - 1) DIV 1000 + 1, 2, '0')) AS section,
             CASE WHEN (n.seq - 1) DIV 1000 < 2 THEN 'VIP'
                  WHEN (n.seq - 1) DIV 1000 < 10 THEN 'R'
                  WHEN (n.seq - 1) DIV 1000 < 25 THEN 'S' ELSE 'A' END AS grade
      FROM concert_dates cd JOIN seq_1_to_50000 n
      WHERE cd.concert_id = 2 AND cd.concert_date = DATE(UTC_TIMESTAMP()) + INTERVAL 2 DAY
      UNION ALL
      SELECT cd.concert_id, cd.concert_date, n.seq,
             CONCAT('S', LPAD((n.seq - 1) DIV 500 + 1, 2, '0')),
             IF(n.seq <= 500, 'VIP', 'R')
      FROM concert_dates cd JOIN seq_1_to_1000 n
      WHERE cd.concert_id = 2 AND cd.concert_date = DATE(UTC_TIMESTAMP()) + INTERVAL 3 DAY) x
JOIN concert_grades g ON g.concert_id = x.concert_id AND g.grade = x.grade;

-- The club: one floor of 30 seats, 6 VIP, 12 R, 12 S.
INSERT IGNORE INTO seats (concert_id, concert_date, seat_number, section, grade, price)
SELECT cd.concert_id, cd.concert_date, n.seq, 'FLOOR',
       CASE WHEN n.seq <= 6 THEN 'VIP' WHEN n.seq <= 18 THEN 'R' ELSE 'S' END,
       g.price
FROM concert_dates cd JOIN seq_1_to_30 n
JOIN concert_grades g ON g.concert_id = cd.concert_id AND g.grade =
       CASE WHEN n.seq <= 6 THEN 'VIP' WHEN n.seq <= 18 THEN 'R' ELSE 'S' END
WHERE cd.concert_id = 3;
