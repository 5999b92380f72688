"""The database itself enforces the ledger's rules, whatever code talks to it:

- entries are insert-only: a row trigger refuses UPDATE and DELETE;
- a transaction's entries sum to zero per currency: a constraint trigger,
  DEFERRABLE INITIALLY DEFERRED, checks each inserted entry's transaction at
  commit (so the legs of one transaction can be inserted one by one). Since
  `CHECK (amount <> 0)` holds, a balanced transaction has two or more legs.

TRUNCATE is left alone on purpose: it is how a test database is emptied, and
no application code issues it.
"""

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION wallets_entry_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are insert-only: % refused on wallets_entry id %', TG_OP, OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;

CREATE TRIGGER wallets_entry_insert_only
    BEFORE UPDATE OR DELETE ON wallets_entry
    FOR EACH ROW EXECUTE FUNCTION wallets_entry_refuse_change();

CREATE FUNCTION wallets_entry_check_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad_currency text;
    bad_sum numeric;
BEGIN
    SELECT a.currency, sum(e.amount) INTO bad_currency, bad_sum
      FROM wallets_entry e JOIN wallets_account a ON a.id = e.account_id
     WHERE e.transaction_id = NEW.transaction_id
     GROUP BY a.currency
    HAVING sum(e.amount) <> 0
     LIMIT 1;
    IF bad_currency IS NOT NULL THEN
        RAISE EXCEPTION 'ledger transaction % does not balance: % entries sum to %',
            NEW.transaction_id, bad_currency, bad_sum
            USING ERRCODE = 'check_violation', CONSTRAINT = 'wallets_entry_balanced';
    END IF;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER wallets_entry_balanced
    AFTER INSERT ON wallets_entry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION wallets_entry_check_balanced();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS wallets_entry_balanced ON wallets_entry;
DROP FUNCTION IF EXISTS wallets_entry_check_balanced();
DROP TRIGGER IF EXISTS wallets_entry_insert_only ON wallets_entry;
DROP FUNCTION IF EXISTS wallets_entry_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("wallets", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
