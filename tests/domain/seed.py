"""What the seed (../shared/seed/000_449a61d5524e602c.txt) says must exist."""

SEED_TABLES = frozenset({
    "user_groups", "users", "user_sessions", "user_privacy", "user_statistics",
    "user_achievements", "user_2fa", "torrent_categories", "torrents", "torrent_files",
    "torrent_tags", "torrent_tag_assignments", "torrent_tag_votes", "torrent_moderation",
    "torrent_metadata", "torrent_requests", "torrent_request_bounties", "torrent_request_votes",
    "torrent_collections", "torrent_collection_items", "torrent_collection_subscriptions",
    "comments", "peers", "announces", "peer_history", "torrent_statistics", "bonus_rules",
    "bonus_transactions", "freeleech_tokens", "forums", "forum_topics", "forum_posts",
    "forum_subscriptions", "private_messages", "chat_rooms", "chat_messages", "reports",
    "warnings", "bans", "audit_logs", "moderation_queue", "search_index_queue",
})

SEED_GROUPS = ["banned", "validating", "member", "power_user", "elite", "torrent_master", "vip",
               "uploader", "designer", "forum_moderator", "moderator", "administrator", "sysop"]
SEED_MAIN_CATEGORIES = ["Movies", "TV Shows", "Music", "Games", "Software", "Books", "Anime",
                        "XXX"]
SEED_SUBCATEGORIES = {
    "Movies": {"HD", "SD", "UHD", "Remux", "BluRay", "DVDR"},
    "TV Shows": {"HD", "SD", "UHD", "WEB-DL"},
    "Music": {"MP3", "FLAC", "Vinyl", "Live"},
}
SEED_SUBCATEGORY_COUNT = 20
SEED_FORUMS = ["announcements", "general", "support", "requests", "off-topic", "vip-lounge",
               "staff"]
SEED_CHAT_ROOMS = ["general", "support", "trading", "vip", "staff"]
SEED_BONUS_RULES = {"standard_seeding", "low_seeder_bonus", "freeleech_seeding",
                    "large_file_bonus"}
SEED_DEFAULT_ROWS = 57

# Tables the project adds beside the seed's (each named in the issue that asked for it).
OUR_TABLES = frozenset({
    "invites", "achievement_rules",                          # accounts (issue 3)
    "torrent_feed_tokens", "torrent_piece_layers",           # catalog (issue 4)
    "tracker_client_rules", "tracker_flush_batches",         # tracker (issue 5)
    "peer_history_daily",                                    # housekeeping (issue 7)
    "notifications", "member_blocks", "chat_mutes",          # community (issue 6)
    "bonus_earning_periods",                                 # bonus (issue 7)
    "warning_thresholds", "appeals", "auto_flag_rules",      # moderation (issue 14)
    "staff_notes",
    "top10_entries", "site_statistics_daily",                # catalog (issue 13)
    "api_keys",                                              # accounts (issue 16)
    "tracker_refused_claims", "tracker_set_aside_entries",   # tracker (issue 11)
    "torrent_history", "tracker_ratio_watch",                # tracker (issue 15)
})
