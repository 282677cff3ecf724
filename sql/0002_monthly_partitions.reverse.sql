DROP FUNCTION IF EXISTS ensure_monthly_partitions(regclass, integer, date);
