-- ensure_monthly_partitions(parent, months_ahead): make sure `parent` (a table
-- range-partitioned on created_at) has one partition per month from the current month
-- through `months_ahead` months on, named <parent>_YYYY_MM. Returns how many it created.
-- Safe to run any number of times (beat runs it daily). Rows that fell into the DEFAULT
-- partition for a month that had none yet are moved into the new month's partition, so
-- creating it never fails on them.
CREATE OR REPLACE FUNCTION ensure_monthly_partitions(
    parent regclass, months_ahead integer DEFAULT 3, from_month date DEFAULT NULL
) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    nsp text;
    rel text;
    first_month date := date_trunc('month', coalesce(from_month::timestamp,
                                                     now() AT TIME ZONE 'UTC'))::date;
    month_start date;
    lower_bound timestamptz;
    upper_bound timestamptz;
    part text;
    default_part regclass;
    created integer := 0;
BEGIN
    IF months_ahead < 0 OR months_ahead > 120 THEN
        RAISE EXCEPTION 'months_ahead must be between 0 and 120, got %', months_ahead;
    END IF;
    SELECT n.nspname, c.relname INTO nsp, rel
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = parent AND c.relkind = 'p';
    IF rel IS NULL THEN
        RAISE EXCEPTION '% is not a partitioned table', parent;
    END IF;
    SELECT i.inhrelid::regclass INTO default_part
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = parent AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT';

    FOR i IN 0..months_ahead LOOP
        month_start := (first_month + make_interval(months => i))::date;
        part := format('%s_%s', rel, to_char(month_start, 'YYYY_MM'));
        CONTINUE WHEN to_regclass(format('%I.%I', nsp, part)) IS NOT NULL;
        lower_bound := month_start::timestamp AT TIME ZONE 'UTC';
        upper_bound := (month_start + interval '1 month')::timestamp AT TIME ZONE 'UTC';
        -- Build the partition detached, move any stray rows in, then attach.
        EXECUTE format('CREATE TABLE %I.%I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                       nsp, part, parent);
        IF default_part IS NOT NULL THEN
            EXECUTE format('WITH moved AS (DELETE FROM %s WHERE created_at >= $1 AND created_at < $2 RETURNING *) '
                           'INSERT INTO %I.%I SELECT * FROM moved', default_part, nsp, part)
              USING lower_bound, upper_bound;
        END IF;
        EXECUTE format('ALTER TABLE %s ATTACH PARTITION %I.%I FOR VALUES FROM (%L) TO (%L)',
                       parent, nsp, part, lower_bound, upper_bound);
        created := created + 1;
    END LOOP;
    RETURN created;
END
$$;
