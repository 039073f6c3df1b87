-- SPDX-License-Identifier: BSD-2-Clause
-- greywall's white- and blacklists in PostgreSQL (greywall.conf: lists_pg).
--
-- greywalld reads the whole table at start, again on every NOTIFY on the
-- channel greywall_lists (the trigger below sends one per changing statement),
-- and every lists_pg_resync seconds. The rows join the list files' entries and
-- reach the data paths as one set, as a reload of the files does. A row that
-- does not parse refuses the whole read (the log names its id) and the last
-- good lists stay in force; so does a database that is down.
--
--   psql -d mail -f greywall_lists.sql
--   GRANT SELECT ON greywall_lists TO greywall;   -- the role greywalld logs in as

CREATE TABLE IF NOT EXISTS greywall_lists (
	id         bigserial PRIMARY KEY,
	list       text NOT NULL CHECK (list IN ('white', 'black')),
	-- client: an IPv4 or IPv6 address or CIDR (198.51.100.0/24, 2001:db8::/32);
	-- sender, recipient: an address (user@example.com) or a domain (@example.com)
	kind       text NOT NULL CHECK (kind IN ('client', 'sender', 'recipient')),
	value      text NOT NULL CHECK (value <> '' AND value !~ '[[:space:]]'),
	comment    text NOT NULL DEFAULT '',
	created_by text NOT NULL DEFAULT current_user,
	created_at timestamptz NOT NULL DEFAULT now(),
	UNIQUE (list, kind, value)
);

CREATE OR REPLACE FUNCTION greywall_lists_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('greywall_lists', '');
	RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS greywall_lists_changed ON greywall_lists;
CREATE TRIGGER greywall_lists_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON greywall_lists
	FOR EACH STATEMENT EXECUTE FUNCTION greywall_lists_notify();
