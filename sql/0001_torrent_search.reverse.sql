DROP TRIGGER IF EXISTS torrents_search_vector_trg ON torrents;
DROP FUNCTION IF EXISTS torrents_search_vector_update();
DROP FUNCTION IF EXISTS torrents_search_vector(text, text);
