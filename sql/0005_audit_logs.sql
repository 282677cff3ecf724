-- audit_logs: who did what to what, range-partitioned by month. Rows are never edited:
-- the trigger refuses UPDATE and DELETE, except the ON DELETE SET NULL of actor_id when an
-- account row is removed. Old months are archived by detaching and dropping partitions,
-- which row triggers do not see.
CREATE TABLE audit_logs (
    id          uuid         NOT NULL,
    created_at  timestamptz  NOT NULL DEFAULT now(),
    actor_id    uuid         REFERENCES users (id) ON DELETE SET NULL,
    action      varchar(64)  NOT NULL CHECK (action ~ '^[a-z0-9_]+(\.[a-z0-9_]+)+$'),
    target_type varchar(32)  NOT NULL DEFAULT ''
                CHECK (target_type IN ('', 'user', 'torrent', 'request', 'collection',
                                       'comment', 'forum_topic', 'forum_post',
                                       'private_message', 'chat_message', 'report',
                                       'warning', 'ban', 'user_group', 'site')),
    target_id   uuid,
    ip_address  inet,
    user_agent  varchar(512) NOT NULL DEFAULT '',
    changes     jsonb        NOT NULL DEFAULT '{}'::jsonb,
    metadata    jsonb        NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (id, created_at),
    CHECK (target_type = '' OR target_id IS NOT NULL)
) PARTITION BY RANGE (created_at);

CREATE INDEX audit_logs_actor_idx ON audit_logs (actor_id, created_at DESC);
CREATE INDEX audit_logs_target_idx ON audit_logs (target_type, target_id, created_at DESC);
CREATE INDEX audit_logs_action_idx ON audit_logs (action, created_at DESC);
CREATE INDEX audit_logs_metadata_gin ON audit_logs USING gin (metadata jsonb_path_ops);

CREATE OR REPLACE FUNCTION audit_logs_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.actor_id IS NOT NULL AND NEW.actor_id IS NULL
       AND (NEW.id, NEW.created_at, NEW.action, NEW.target_type, NEW.target_id,
            NEW.ip_address, NEW.user_agent, NEW.changes, NEW.metadata)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.created_at, OLD.action, OLD.target_type, OLD.target_id,
            OLD.ip_address, OLD.user_agent, OLD.changes, OLD.metadata) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_logs rows cannot be changed or deleted (%)', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER audit_logs_immutable_trg
    BEFORE UPDATE OR DELETE ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION audit_logs_immutable();

CREATE TABLE audit_logs_default PARTITION OF audit_logs DEFAULT;
SELECT ensure_monthly_partitions('audit_logs', 3);
