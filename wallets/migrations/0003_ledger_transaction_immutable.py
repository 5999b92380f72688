"""Ledger transactions are as final as their entries, and closed once committed.

- A row trigger refuses UPDATE and DELETE of `wallets_ledgertransaction`: no
  service changes a posted transaction (they only insert), so raw SQL must
  not either.
- `created_xact` records the top-level transaction that inserted the row
  (a BEFORE INSERT trigger sets it; a value the client supplies is
  overwritten). `pg_current_xact_id()` is the top-level id even inside a
  savepoint, so Django's nested `atomic()` blocks all see the same value.
- A statement trigger on `wallets_entry` refuses entries whose ledger
  transaction was not inserted by the current database transaction. Without
  it a balanced pair of entries could be added to a transaction committed
  earlier: the zero-sum check passes and the cached balances drift.

The column exists only in the database (the model does not map it): Django
never writes it and no code reads it, so the model stays as it was.
"""

from django.db import migrations

FORWARD = r"""
ALTER TABLE wallets_ledgertransaction ADD COLUMN created_xact xid8;

CREATE FUNCTION wallets_tx_stamp_xact() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.created_xact := pg_current_xact_id();
    RETURN NEW;
END;
$$;

CREATE TRIGGER wallets_tx_stamp_xact
    BEFORE INSERT ON wallets_ledgertransaction
    FOR EACH ROW EXECUTE FUNCTION wallets_tx_stamp_xact();

CREATE FUNCTION wallets_tx_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger transactions are insert-only: % refused on wallets_ledgertransaction id %',
        TG_OP, OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;

CREATE TRIGGER wallets_tx_insert_only
    BEFORE UPDATE OR DELETE ON wallets_ledgertransaction
    FOR EACH ROW EXECUTE FUNCTION wallets_tx_refuse_change();

-- One query per INSERT statement (not per row): batch postings insert many
-- entries in one statement.
CREATE FUNCTION wallets_entry_check_open_transaction() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    closed_tx bigint;
BEGIN
    SELECT t.id INTO closed_tx
      FROM new_entries n JOIN wallets_ledgertransaction t ON t.id = n.transaction_id
     WHERE t.created_xact IS DISTINCT FROM pg_current_xact_id()
     LIMIT 1;
    IF closed_tx IS NOT NULL THEN
        RAISE EXCEPTION 'ledger transaction % is closed: entries can only be added in the '
            'database transaction that created it', closed_tx
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER wallets_entry_open_transaction
    AFTER INSERT ON wallets_entry
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION wallets_entry_check_open_transaction();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS wallets_entry_open_transaction ON wallets_entry;
DROP FUNCTION IF EXISTS wallets_entry_check_open_transaction();
DROP TRIGGER IF EXISTS wallets_tx_insert_only ON wallets_ledgertransaction;
DROP FUNCTION IF EXISTS wallets_tx_refuse_change();
DROP TRIGGER IF EXISTS wallets_tx_stamp_xact ON wallets_ledgertransaction;
DROP FUNCTION IF EXISTS wallets_tx_stamp_xact();
ALTER TABLE wallets_ledgertransaction DROP COLUMN IF EXISTS created_xact;
"""


class Migration(migrations.Migration):
    dependencies = [("wallets", "0002_ledger_triggers")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
