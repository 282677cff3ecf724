DROP INDEX IF EXISTS bans_ip_range_gist;
