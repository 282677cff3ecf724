-- Full-text search over torrents (the PostgreSQL backend; Meilisearch is optional).
-- Release names are dotted ("Some.Movie.2024.1080p.BluRay-GRP"): they are split on
-- punctuation and indexed unstemmed ('simple') at weight A; descriptions are stemmed
-- English at weight D. Trigram search on upper(name) (GIN, in the model) handles typos.
CREATE OR REPLACE FUNCTION torrents_search_vector(name text, description text)
RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector('simple',
                                 regexp_replace(coalesce(name, ''), '[._\-\[\](){}+/]+', ' ', 'g')),
                     'A')
        || setweight(to_tsvector('english', coalesce(description, '')), 'D')
$$;

CREATE OR REPLACE FUNCTION torrents_search_vector_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_vector := torrents_search_vector(NEW.name, NEW.description);
    RETURN NEW;
END
$$;

CREATE TRIGGER torrents_search_vector_trg
    BEFORE INSERT OR UPDATE OF name, description ON torrents
    FOR EACH ROW EXECUTE FUNCTION torrents_search_vector_update();

UPDATE torrents SET search_vector = torrents_search_vector(name, description);
