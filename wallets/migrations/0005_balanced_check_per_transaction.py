"""The zero-sum check runs once per ledger transaction, and reads only its
own entries and their accounts.

Before: a deferred row trigger on `wallets_entry` checked, at COMMIT, the
entry's whole ledger transaction, once per entry (four times for a
settlement's four legs), with a join the planner answered by hashing the
whole `wallets_account` table (every user's accounts plus their dead row
versions) each time: 2,000 firings per settlement batch of 500, each
costlier as accounts and their dead versions grew (bench/REPORT.md,
"Settlement: where the time goes").

After: the same check, a deferred constraint trigger, fires once per
inserted `wallets_ledgertransaction` row. It is equivalent: since 0003 an
entry can only be inserted by the database transaction that inserted its
ledger transaction, so every ledger transaction that gained entries in this
database transaction was inserted by it, and its trigger sees all its entries
at COMMIT. Each entry's account is read by primary key (a scalar sub-select:
an index probe once the table is more than a page or two; on a tiny,
analysed table the planner rightly reads the page whole), not joined.

The error is unchanged: "ledger transaction <id> does not balance", SQLSTATE
23514 (check_violation), raised at COMMIT (or at `SET CONSTRAINTS ALL
IMMEDIATE`).
"""

from django.db import migrations

FORWARD = r"""
DROP TRIGGER wallets_entry_balanced ON wallets_entry;
DROP FUNCTION wallets_entry_check_balanced();

CREATE FUNCTION wallets_tx_check_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad_currency text;
    bad_sum numeric;
BEGIN
    SELECT leg.currency, sum(leg.amount) INTO bad_currency, bad_sum
      FROM (SELECT e.amount,
                   (SELECT a.currency FROM wallets_account a WHERE a.id = e.account_id) AS currency
              FROM wallets_entry e
             WHERE e.transaction_id = NEW.id) AS leg
     GROUP BY leg.currency
    HAVING sum(leg.amount) <> 0
     LIMIT 1;
    IF bad_currency IS NOT NULL THEN
        RAISE EXCEPTION 'ledger transaction % does not balance: % entries sum to %',
            NEW.id, bad_currency, bad_sum
            USING ERRCODE = 'check_violation', CONSTRAINT = 'wallets_tx_balanced';
    END IF;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER wallets_tx_balanced
    AFTER INSERT ON wallets_ledgertransaction
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION wallets_tx_check_balanced();
"""

# The trigger and function of 0002, as they were.
BACKWARD = r"""
DROP TRIGGER IF EXISTS wallets_tx_balanced ON wallets_ledgertransaction;
DROP FUNCTION IF EXISTS wallets_tx_check_balanced();

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


class Migration(migrations.Migration):
    dependencies = [("wallets", "0004_fee_kind")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
