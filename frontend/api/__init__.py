"""The machine face: API keys, the JSON API v1 (django-ninja, with its OpenAPI document),
Torznab for Prowlarr/Sonarr/Radarr and a UNIT3D-shaped filter. Views parse, authorize by
key scope, call the same services and selectors as the pages, and render JSON or XML."""
