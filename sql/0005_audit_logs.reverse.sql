DROP TABLE IF EXISTS audit_logs CASCADE;
DROP FUNCTION IF EXISTS audit_logs_immutable();
