-- Concert reservation schema (MariaDB 10.11 / MySQL 8, InnoDB).
-- Applied on every start: every statement is idempotent.
-- UUIDs and tokens are stored as BINARY(16); times are UTC DATETIME(3).
-- The transaction isolation used by the programs is READ COMMITTED.

CREATE TABLE IF NOT EXISTS users (
  id          BINARY(16) NOT NULL PRIMARY KEY,
  balance     BIGINT NOT NULL DEFAULT 0,
  created_at  DATETIME(3) NOT NULL DEFAULT UTC_TIMESTAMP(3),
  CONSTRAINT users_balance_nonneg CHECK (balance >= 0)
) ENGINE=InnoDB;

-- Every balance change writes one row here in the same transaction:
-- users.balance = SUM(delta) per user, always.
CREATE TABLE IF NOT EXISTS balance_ledger (
  id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id     BINARY(16) NOT NULL,
  delta       BIGINT NOT NULL,
  kind        ENUM('CHARGE','PAYMENT','REFUND') NOT NULL,
  ref_id      BINARY(16) NULL,
  created_at  DATETIME(3) NOT NULL DEFAULT UTC_TIMESTAMP(3),
  KEY ledger_user (user_id)
) ENGINE=InnoDB;

-- Issue 12: several concerts, each with its own dates, seats and waiting
-- line.  id 1 is the default concert: every request without a concertId
-- means it, and a database made before concerts existed migrates its
-- dates, seats, reservations and tokens to it (below).
CREATE TABLE IF NOT EXISTS concerts (
  id          INT NOT NULL PRIMARY KEY,
  title       VARCHAR(200) NOT NULL DEFAULT '',
  venue       VARCHAR(200) NOT NULL DEFAULT '',
  on_sale_at  DATETIME(3) NULL,
  created_at  DATETIME(3) NOT NULL DEFAULT UTC_TIMESTAMP(3),
  CONSTRAINT concerts_id_range CHECK (id BETWEEN 1 AND 65535)
) ENGINE=InnoDB;
INSERT IGNORE INTO concerts (id, title, venue) VALUES (1, 'Concert', '');

-- Two concerts may play on the same date: a date is (concert, day).
CREATE TABLE IF NOT EXISTS concert_dates (
  concert_id   INT NOT NULL DEFAULT 1,
  concert_date DATE NOT NULL,
  title        VARCHAR(200) NOT NULL DEFAULT '',
  PRIMARY KEY (concert_id, concert_date),
  CONSTRAINT concert_dates_fk_concert FOREIGN KEY (concert_id)
    REFERENCES concerts (id)
) ENGINE=InnoDB;

-- The state columns hold the numbers of src/model.h (enum seat_state,
-- res_state, token_state; SQL_* in the statements).  They are on disk:
-- never renumber one.  The three vocabularies reuse 0/1/2 differently.

-- One row per (date, seat).  state: 0 FREE, 1 HELD, 2 SOLD.
-- A HELD seat whose hold_expires_at has passed is free for every reader
-- and writer (lazy expiry); the consumer tidies it later.
-- Issue 12 part 3: a concert's seat grades (VIP, R, S, A...) and their
-- prices.  A seat names its grade; seats.price stays the price charged
-- (filled from the grade when the seats are loaded), so a grade's price
-- can change for seats not yet sold without touching sold ones.
CREATE TABLE IF NOT EXISTS concert_grades (
  concert_id  INT NOT NULL,
  grade       VARCHAR(8) NOT NULL,
  price       BIGINT NOT NULL,
  PRIMARY KEY (concert_id, grade),
  CONSTRAINT concert_grades_fk_concert FOREIGN KEY (concert_id)
    REFERENCES concerts (id),
  CONSTRAINT concert_grades_price_pos CHECK (price > 0)
) ENGINE=InnoDB;

-- section, grade: where the seat is and its grade ('' for seats loaded
-- without: the default concert's demo seats, databases made before).
-- seats_section serves the seat map of one section and the per-section,
-- per-grade summary of a date from the index alone (it covers state,
-- hold_expires_at and price, so "available" and the prices are computed
-- without the rows).  seats_date_seat: what the primary key was before
-- concerts, for readers that name a day and a seat but no concert (an
-- operator's query, a locking read in a script): they stay index lookups
-- that lock one seat, not scans that lock the table.
CREATE TABLE IF NOT EXISTS seats (
  concert_id      INT NOT NULL DEFAULT 1,
  concert_date    DATE NOT NULL,
  seat_number     INT NOT NULL,
  section         VARCHAR(16) NOT NULL DEFAULT '',
  grade           VARCHAR(8) NOT NULL DEFAULT '',
  price           BIGINT NOT NULL,
  state           TINYINT NOT NULL DEFAULT 0,
  hold_user       BINARY(16) NULL,
  hold_expires_at DATETIME(3) NULL,
  reservation_id  BINARY(16) NULL,
  PRIMARY KEY (concert_id, concert_date, seat_number),
  KEY seats_avail (state, hold_expires_at, concert_date),
  KEY seats_section (concert_id, concert_date, section, grade, state,
    hold_expires_at, price),
  KEY seats_date_seat (concert_date, seat_number),
  CONSTRAINT seats_fk_concert_date FOREIGN KEY (concert_id, concert_date)
    REFERENCES concert_dates (concert_id, concert_date),
  CONSTRAINT seats_price_pos CHECK (price > 0)
) ENGINE=InnoDB;

-- state: 0 HELD, 1 CONFIRMED, 2 EXPIRED, 3 RELEASED (by its owner, before
-- paying), 4 CANCELLED (paid, then cancelled and refunded).
CREATE TABLE IF NOT EXISTS reservations (
  id            BINARY(16) NOT NULL PRIMARY KEY,
  user_id       BINARY(16) NOT NULL,
  concert_id    INT NOT NULL DEFAULT 1,
  concert_date  DATE NOT NULL,
  seat_number   INT NOT NULL,
  price         BIGINT NOT NULL,
  state         TINYINT NOT NULL DEFAULT 0,
  expires_at    DATETIME(3) NOT NULL,
  created_at    DATETIME(3) NOT NULL DEFAULT UTC_TIMESTAMP(3),
  updated_at    DATETIME(3) NULL,
  KEY res_user_state (user_id, state, expires_at),
  KEY res_state_exp (state, expires_at),
  KEY res_concert_seat (concert_id, concert_date, seat_number),
  KEY res_user_created (user_id, created_at, id)
) ENGINE=InnoDB;

-- The UNIQUE key on reservation_id makes a second payment impossible.
-- refunded_at: set once, when the reservation is CANCELLED and the amount
-- credited back (a REFUND ledger row of +amount, ref_id = this id).
CREATE TABLE IF NOT EXISTS payments (
  id              BINARY(16) NOT NULL PRIMARY KEY,
  reservation_id  BINARY(16) NOT NULL,
  user_id         BINARY(16) NOT NULL,
  amount          BIGINT NOT NULL,
  created_at      DATETIME(3) NOT NULL DEFAULT UTC_TIMESTAMP(3),
  refunded_at     DATETIME(3) NULL,
  UNIQUE KEY payments_reservation (reservation_id),
  KEY payments_user (user_id),
  KEY payments_user_created (user_id, created_at, id)
) ENGINE=InnoDB;

-- Issue 12 part 4 (after the hold), for databases made before it.
-- Appending a value to an ENUM is a metadata-only change in InnoDB; the
-- lists (GET /reservations, GET /payments) read the caller's rows newest
-- first through the (user_id, created_at, id) keys.
ALTER TABLE balance_ledger
  MODIFY kind ENUM('CHARGE','PAYMENT','REFUND') NOT NULL;
ALTER TABLE payments
  ADD COLUMN IF NOT EXISTS refunded_at DATETIME(3) NULL,
  ADD INDEX IF NOT EXISTS payments_user_created (user_id, created_at, id);
ALTER TABLE reservations
  ADD INDEX IF NOT EXISTS res_user_created (user_id, created_at, id);

-- The waiting queues, one per concert.  seq is the token's place in its
-- concert's line, dense per concert: taken from queue_seq.next_seq in the
-- transaction that inserts the token (the counter row's lock orders the
-- joiners of one concert, so they commit in seq order; see the trigger
-- below for writers that do not take it themselves).  state: 0 WAITING, 1 ACTIVE, 2 EXPIRED.
-- live_user = user_id while the token is WAITING or ACTIVE, NULL once
-- EXPIRED: the UNIQUE key (concert_id, live_user) makes "one live token
-- per user per concert" hold under any concurrency.
CREATE TABLE IF NOT EXISTS queue_tokens (
  seq           BIGINT NOT NULL DEFAULT 0,
  concert_id    INT NOT NULL DEFAULT 1,
  token         BINARY(16) NOT NULL,
  user_id       BINARY(16) NOT NULL,
  live_user     BINARY(16) NULL,
  state         TINYINT NOT NULL DEFAULT 0,
  issued_at     DATETIME(3) NOT NULL DEFAULT UTC_TIMESTAMP(3),
  activated_at  DATETIME(3) NULL,
  expires_at    DATETIME(3) NULL,
  end_reason    TINYINT NOT NULL DEFAULT 0,
  seen_at       DATETIME(3) NOT NULL DEFAULT UTC_TIMESTAMP(3),
  claimed_at    DATETIME(3) NULL,
  PRIMARY KEY (concert_id, seq),
  UNIQUE KEY qt_token (token),
  UNIQUE KEY qt_concert_live (concert_id, live_user),
  KEY qt_concert_state_seq (concert_id, state, seq),
  KEY qt_concert_state_exp (concert_id, state, expires_at),
  KEY qt_user (user_id)
) ENGINE=InnoDB;

-- Issue 10 (polls without the database, idle and unclaimed places), for
-- databases made before it (MariaDB's ADD COLUMN IF NOT EXISTS: applied on
-- every start like the rest of this file).
-- token: 6 bytes of seq + 10 bytes of HMAC (src/qtoken.h), so a worker
--   learns the seq from the token alone.
-- end_reason: why the token is EXPIRED (src/model.h enum token_end:
--   1 paid, 2 left, 3 lapsed, 4 idle, 5 unclaimed; 0 while live).
-- seen_at: the token's last WAITING poll as the workers flushed it (at most
--   waiting_idle_seconds / 4 late); admission drops a token whose seen_at
--   is older than waiting_idle_seconds (reason idle).
-- claimed_at: the first request made with the token once ACTIVE; an
--   admission still unclaimed after claim_seconds lapses (reason unclaimed).
ALTER TABLE queue_tokens
  ADD COLUMN IF NOT EXISTS end_reason TINYINT NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS seen_at DATETIME(3) NOT NULL DEFAULT UTC_TIMESTAMP(3),
  ADD COLUMN IF NOT EXISTS claimed_at DATETIME(3) NULL;

-- One row per concert (id = the concert's id; made by the first POST
-- /token of the concert, or below for concert 1).  serving_seq: highest
-- admitted sequence number; position of a waiting token = seq -
-- serving_seq.  admit_rate: moving average of admissions per second, measured by the
-- consumer.  The row lock on it serialises admission of that concert
-- across consumer instances.
CREATE TABLE IF NOT EXISTS queue_state (
  id              INT NOT NULL PRIMARY KEY,
  serving_seq     BIGINT NOT NULL DEFAULT 0,
  active_count    INT NOT NULL DEFAULT 0,
  admit_rate      DOUBLE NOT NULL DEFAULT 0,
  admitted_total  BIGINT NOT NULL DEFAULT 0,
  expired_total   BIGINT NOT NULL DEFAULT 0,
  rate_window_at  DATETIME(3) NULL,
  rate_window_n   BIGINT NOT NULL DEFAULT 0,
  updated_at      DATETIME(3) NULL,
  max_active_tokens INT NOT NULL DEFAULT 0,
  idle_total      BIGINT NOT NULL DEFAULT 0,
  unclaimed_total BIGINT NOT NULL DEFAULT 0
) ENGINE=InnoDB;
INSERT IGNORE INTO queue_state (id) VALUES (1);
-- max_active_tokens: THE cap every consumer instance admits to (issue 9).
--   0 until the first admission pass seeds it from the config key
--   max_active_tokens; from then on the database's value wins over any
--   instance's config, so a consumer restarted with another config cannot
--   over-admit.  An operator changes it with
--     UPDATE queue_state SET max_active_tokens = N WHERE id = 1;
--   (the next pass, within sweep_interval_ms, admits to N).
-- idle_total, unclaimed_total: tokens dropped as idle / lapsed unclaimed.
ALTER TABLE queue_state
  ADD COLUMN IF NOT EXISTS max_active_tokens INT NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS idle_total BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS unclaimed_total BIGINT NOT NULL DEFAULT 0;

-- Issue 12 (concerts), for databases made before it: everything that
-- exists belongs to the default concert 1.  The key changes run only
-- while a key still has its old shape (information_schema), so this is a
-- no-op on every later start.  The client's DELIMITER lets the compound
-- statement (MariaDB's BEGIN NOT ATOMIC) through.
ALTER TABLE concert_dates
  ADD COLUMN IF NOT EXISTS concert_id INT NOT NULL DEFAULT 1 FIRST;
ALTER TABLE seats
  ADD COLUMN IF NOT EXISTS concert_id INT NOT NULL DEFAULT 1 FIRST,
  DROP FOREIGN KEY IF EXISTS seats_fk_date,
  ADD COLUMN IF NOT EXISTS section VARCHAR(16) NOT NULL DEFAULT ''
    AFTER seat_number,
  ADD COLUMN IF NOT EXISTS grade VARCHAR(8) NOT NULL DEFAULT '' AFTER section;
ALTER TABLE reservations
  ADD COLUMN IF NOT EXISTS concert_id INT NOT NULL DEFAULT 1 AFTER user_id,
  DROP INDEX IF EXISTS res_seat,
  ADD KEY IF NOT EXISTS res_concert_seat (concert_id, concert_date, seat_number);
ALTER TABLE queue_tokens
  ADD COLUMN IF NOT EXISTS concert_id INT NOT NULL DEFAULT 1 AFTER seq;
-- The line counters, one row per concert: next_seq is the last seq
-- handed out.  A table of its own, not a queue_state column: the
-- admission pass holds the queue_state row lock for the whole pass, and
-- joiners must not wait for it (nor for each other longer than one
-- join's commit).  On Galera two nodes' joins of one concert conflict on
-- this row at certification instead of interleaving seqs.
CREATE TABLE IF NOT EXISTS queue_seq (
  id        INT NOT NULL PRIMARY KEY,
  next_seq  BIGINT NOT NULL DEFAULT 0
) ENGINE=InnoDB;
INSERT IGNORE INTO queue_seq (id) VALUES (1);
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE pk_cols INT;
  SELECT COUNT(*) INTO pk_cols FROM information_schema.STATISTICS
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'concert_dates'
    AND INDEX_NAME = 'PRIMARY';
  IF pk_cols = 1 THEN
    ALTER TABLE concert_dates DROP PRIMARY KEY,
      ADD PRIMARY KEY (concert_id, concert_date);
  END IF;
  SELECT COUNT(*) INTO pk_cols FROM information_schema.STATISTICS
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'seats'
    AND INDEX_NAME = 'PRIMARY';
  IF pk_cols = 2 THEN
    ALTER TABLE seats DROP PRIMARY KEY,
      ADD PRIMARY KEY (concert_id, concert_date, seat_number);
  END IF;
  SELECT COUNT(*) INTO pk_cols FROM information_schema.STATISTICS
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'queue_tokens'
    AND INDEX_NAME = 'PRIMARY';
  IF pk_cols = 1 THEN
    ALTER TABLE queue_tokens MODIFY seq BIGINT NOT NULL DEFAULT 0,
      DROP PRIMARY KEY, ADD PRIMARY KEY (concert_id, seq);
  END IF;
  IF (SELECT DATA_TYPE FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'queue_state'
      AND COLUMN_NAME = 'id') = 'tinyint' THEN
    ALTER TABLE queue_state MODIFY id INT NOT NULL;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM information_schema.REFERENTIAL_CONSTRAINTS
      WHERE CONSTRAINT_SCHEMA = DATABASE()
      AND CONSTRAINT_NAME = 'seats_fk_concert_date') THEN
    ALTER TABLE seats ADD CONSTRAINT seats_fk_concert_date
      FOREIGN KEY (concert_id, concert_date)
      REFERENCES concert_dates (concert_id, concert_date);
  END IF;
  IF NOT EXISTS (SELECT 1 FROM information_schema.REFERENTIAL_CONSTRAINTS
      WHERE CONSTRAINT_SCHEMA = DATABASE()
      AND CONSTRAINT_NAME = 'concert_dates_fk_concert') THEN
    ALTER TABLE concert_dates ADD CONSTRAINT concert_dates_fk_concert
      FOREIGN KEY (concert_id) REFERENCES concerts (id);
  END IF;
END//
DELIMITER ;
ALTER TABLE seats
  ADD KEY IF NOT EXISTS seats_section (concert_id, concert_date, section,
    grade, state, hold_expires_at, price),
  ADD KEY IF NOT EXISTS seats_date_seat (concert_date, seat_number);
ALTER TABLE queue_tokens
  DROP INDEX IF EXISTS qt_live_user,
  DROP INDEX IF EXISTS qt_state_seq,
  DROP INDEX IF EXISTS qt_state_exp,
  ADD UNIQUE KEY IF NOT EXISTS qt_concert_live (concert_id, live_user),
  ADD KEY IF NOT EXISTS qt_concert_state_seq (concert_id, state, seq),
  ADD KEY IF NOT EXISTS qt_concert_state_exp (concert_id, state, expires_at);
-- The counter starts above every seq already taken (an upgraded database,
-- or rows written by hand): cheap, the primary key's last entry.
INSERT INTO queue_seq (id, next_seq)
  SELECT concert_id, MAX(seq) FROM queue_tokens GROUP BY concert_id
  ON DUPLICATE KEY UPDATE next_seq = GREATEST(next_seq, VALUES(next_seq));

-- A token row inserted without a seq (an operator's script, a test
-- filling a long line) takes the next one of its concert's counter, so
-- the line stays dense whoever writes it.  concertd names the seq itself
-- (it mints the token from it before the INSERT) and skips this.
DELIMITER //
CREATE OR REPLACE TRIGGER queue_tokens_seq BEFORE INSERT ON queue_tokens
FOR EACH ROW
BEGIN
  IF NEW.seq = 0 THEN
    UPDATE queue_seq SET next_seq = next_seq + 1 WHERE id = NEW.concert_id;
    IF ROW_COUNT() = 0 THEN
      INSERT INTO queue_seq (id, next_seq) VALUES (NEW.concert_id, 1);
      INSERT IGNORE INTO queue_state (id) VALUES (NEW.concert_id);
    END IF;
    SET NEW.seq = (SELECT next_seq FROM queue_seq WHERE id = NEW.concert_id);
  END IF;
END//
DELIMITER ;

-- Issue 12 part 5: a pre-queue for the opening.  A concert whose
-- on_sale_at is in the future takes its joins into a pre-queue; at the
-- opening the consumer draws their order at random, once, and gives them
-- seqs next_seq + 1 .. next_seq + n; everyone after joins behind them.
-- queue_seq (its row lock orders the joins of a concert, and the draw
-- takes it too, so a join is either in the draw or after it):
--   pre_next:  pre-queue joins so far (their numbers, queue_tokens.pre_seq,
--              are 1..pre_next);
--   pre_early: the last of them made before on_sale_at: joins 1..pre_early
--              are the draw's entrants (those still waiting at the draw);
--              pre_early+1..pre_next came after the opening but before
--              the draw, and get the seqs after the entrants', in order;
--   pre_drawn: 1 once the draw is committed (queue_draws has its row);
--              from then on every join takes next_seq as before.
-- A join goes to the pre-queue while pre_drawn = 0 and either on_sale_at
-- is in the future or the pre-queue has joins already.  The default
-- concert (on_sale_at NULL) never has one.
ALTER TABLE queue_seq
  ADD COLUMN IF NOT EXISTS pre_next BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS pre_early BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS pre_drawn TINYINT NOT NULL DEFAULT 0;
-- pre_seq: the token's number in its concert's pre-queue (NULL for a
-- token that joined the line directly).  Until the draw the row's seq is
-- -pre_seq (the primary key needs a value; no admission picks seq < 1);
-- the draw sets the real one.  The token string of a pre-queue join
-- names (concert, pre_seq) (src/qtoken.h), found through qt_concert_pre.
-- Its token column keeps that pre-queue token after the draw (the
-- token of the drawn place is minted from the seq by the workers, which
-- hold the key; the consumer does not need it).
ALTER TABLE queue_tokens
  ADD COLUMN IF NOT EXISTS pre_seq BIGINT NULL,
  ADD UNIQUE KEY IF NOT EXISTS qt_concert_pre (concert_id, pre_seq);
-- One row per draw, written in the draw's transaction (the primary key
-- makes a second draw of a concert impossible).  What reproduces it
-- (src/consumer/shuffle.h): the seed (hex of 32 bytes, public once drawn),
-- the method, and the entrants: the tokens with pre_seq 1..joined whose
-- seq is first_seq..first_seq + entrants - 1; entrants_sha256 is the
-- digest of their pre_seq list, so the set can be checked too.  late:
-- joins between the opening and the draw, seqs first_seq + entrants ..
-- in join order.
CREATE TABLE IF NOT EXISTS queue_draws (
  concert_id      INT NOT NULL PRIMARY KEY,
  method          VARCHAR(32) NOT NULL,
  seed            CHAR(64) NOT NULL,
  on_sale_at      DATETIME(3) NULL,
  drawn_at        DATETIME(3) NOT NULL DEFAULT UTC_TIMESTAMP(3),
  joined          BIGINT NOT NULL,
  entrants        BIGINT NOT NULL,
  first_seq       BIGINT NOT NULL,
  late            BIGINT NOT NULL,
  entrants_sha256 CHAR(64) NOT NULL
) ENGINE=InnoDB;

-- Idempotency-Key replay store.  The key row is inserted in the same
-- transaction as the request's effects, so an answer is stored exactly
-- when its effects are committed.
CREATE TABLE IF NOT EXISTS idempotency_keys (
  scope         BINARY(32) NOT NULL PRIMARY KEY,
  request_hash  BINARY(32) NOT NULL,
  status        SMALLINT NOT NULL,
  body          MEDIUMTEXT NOT NULL,
  created_at    DATETIME(3) NOT NULL DEFAULT UTC_TIMESTAMP(3),
  KEY idem_created (created_at)
) ENGINE=InnoDB;

-- One row per running consumer instance (host:pid): its Kafka lag, the
-- messages on its assigned partitions not yet fetched, refreshed every few
-- seconds.  /metrics sums the rows refreshed in the last 30 s.
CREATE TABLE IF NOT EXISTS consumer_status (
  instance    VARCHAR(128) NOT NULL PRIMARY KEY,
  lag         BIGINT NOT NULL,
  updated_at  DATETIME(3) NOT NULL
) ENGINE=InnoDB;
