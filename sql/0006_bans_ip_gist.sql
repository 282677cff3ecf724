-- Is this address banned? `ip_range >>= $1` over active IP bans, served by GiST (inet_ops);
-- a B-tree cannot answer containment.
CREATE INDEX bans_ip_range_gist ON bans USING gist (ip_range inet_ops)
    WHERE ban_type = 'ip' AND revoked_at IS NULL;
