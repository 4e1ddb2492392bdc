-- Named JSON definitions of Smelt's own resources (serving endpoints,
-- monitors), so they come back after a restart.
CREATE TABLE smelt_definitions (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (kind, name)
);
