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
  kind        ENUM('CHARGE','PAYMENT') NOT NULL,
  ref_id      BINARY(16) NULL,
  created_at  DATETIME(3) NOT NULL DEFAULT UTC_TIMESTAMP(3),
  KEY ledger_user (user_id)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS concert_dates (
  concert_date DATE NOT NULL PRIMARY KEY,
  title        VARCHAR(200) NOT NULL DEFAULT ''
) ENGINE=InnoDB;

-- The state columns hold the numbers of src/model.h (enum seat_state,
-- res_state, token_state; SQL_* in the statements).  They are on disk:
-- never renumber one.  The three vocabularies reuse 0/1/2 differently.

-- One row per (date, seat).  state: 0 FREE, 1 HELD, 2 SOLD.
-- A HELD seat whose hold_expires_at has passed is free for every reader
-- and writer (lazy expiry); the consumer tidies it later.
CREATE TABLE IF NOT EXISTS seats (
  concert_date    DATE NOT NULL,
  seat_number     INT NOT NULL,
  price           BIGINT NOT NULL,
  state           TINYINT NOT NULL DEFAULT 0,
  hold_user       BINARY(16) NULL,
  hold_expires_at DATETIME(3) NULL,
  reservation_id  BINARY(16) NULL,
  PRIMARY KEY (concert_date, seat_number),
  KEY seats_avail (state, hold_expires_at, concert_date),
  CONSTRAINT seats_fk_date FOREIGN KEY (concert_date)
    REFERENCES concert_dates (concert_date),
  CONSTRAINT seats_price_pos CHECK (price > 0)
) ENGINE=InnoDB;

-- state: 0 HELD, 1 CONFIRMED, 2 EXPIRED.
CREATE TABLE IF NOT EXISTS reservations (
  id            BINARY(16) NOT NULL PRIMARY KEY,
  user_id       BINARY(16) NOT NULL,
  concert_date  DATE NOT NULL,
  seat_number   INT NOT NULL,
  price         BIGINT NOT NULL,
  state         TINYINT NOT NULL DEFAULT 0,
  expires_at    DATETIME(3) NOT NULL,
  created_at    DATETIME(3) NOT NULL DEFAULT UTC_TIMESTAMP(3),
  updated_at    DATETIME(3) NULL,
  KEY res_user_state (user_id, state, expires_at),
  KEY res_state_exp (state, expires_at),
  KEY res_seat (concert_date, seat_number)
) ENGINE=InnoDB;

-- The UNIQUE key on reservation_id makes a second payment impossible.
CREATE TABLE IF NOT EXISTS payments (
  id              BINARY(16) NOT NULL PRIMARY KEY,
  reservation_id  BINARY(16) NOT NULL,
  user_id         BINARY(16) NOT NULL,
  amount          BIGINT NOT NULL,
  created_at      DATETIME(3) NOT NULL DEFAULT UTC_TIMESTAMP(3),
  UNIQUE KEY payments_reservation (reservation_id),
  KEY payments_user (user_id)
) ENGINE=InnoDB;

-- The waiting queue.  seq is taken from AUTO_INCREMENT at issue: no shared
-- row is locked to join the line.  state: 0 WAITING, 1 ACTIVE, 2 EXPIRED.
-- live_user = user_id while the token is WAITING or ACTIVE, NULL once
-- EXPIRED: its UNIQUE key makes "one live token per user" hold under any
-- concurrency.
CREATE TABLE IF NOT EXISTS queue_tokens (
  seq           BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
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
  UNIQUE KEY qt_token (token),
  UNIQUE KEY qt_live_user (live_user),
  KEY qt_state_seq (state, seq),
  KEY qt_state_exp (state, expires_at),
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

-- One row.  serving_seq: highest admitted sequence number; position of a
-- waiting token = seq - serving_seq.  admit_rate: moving average of
-- admissions per second, measured by the consumer.  The row lock on it
-- serialises admission across consumer instances.
CREATE TABLE IF NOT EXISTS queue_state (
  id              TINYINT NOT NULL PRIMARY KEY,
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
