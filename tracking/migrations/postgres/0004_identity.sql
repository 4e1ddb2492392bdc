-- Identity: users, their grants, roles, API tokens, UI sessions and the
-- audit log (`smelt server --auth`). Permissions are MLflow's names (READ,
-- USE, EDIT, MANAGE, DENY); booleans are 0/1 integers so one query reads
-- both dialects through sqlx's Any driver.
CREATE TABLE smelt_users (
    id BIGSERIAL PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    is_admin BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

-- A user's own grants are the permissions of their personal role
-- `__user_<id>__` (as in MLflow 3.17), so one fold covers grants and roles.
CREATE TABLE smelt_roles (
    id BIGSERIAL PRIMARY KEY,
    workspace TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    UNIQUE (workspace, name)
);

CREATE TABLE smelt_role_permissions (
    id BIGSERIAL PRIMARY KEY,
    role_id BIGINT NOT NULL REFERENCES smelt_roles (id) ON DELETE CASCADE,
    resource_type TEXT NOT NULL,
    resource_pattern TEXT NOT NULL,
    permission TEXT NOT NULL,
    UNIQUE (role_id, resource_type, resource_pattern)
);

CREATE TABLE smelt_user_roles (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES smelt_users (id) ON DELETE CASCADE,
    role_id BIGINT NOT NULL REFERENCES smelt_roles (id) ON DELETE CASCADE,
    UNIQUE (user_id, role_id)
);

-- API tokens and UI sessions: only a SHA-256 of the secret is kept (the
-- secret is 256 random bits, so a slow hash would add nothing).
CREATE TABLE smelt_api_tokens (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES smelt_users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    read_only BIGINT NOT NULL DEFAULT 0,
    endpoint TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    last_used_at BIGINT,
    revoked_at BIGINT,
    UNIQUE (user_id, name)
);

CREATE TABLE smelt_sessions (
    session_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES smelt_users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE smelt_audit_log (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    username TEXT,
    address TEXT,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    status BIGINT NOT NULL,
    action TEXT NOT NULL,
    resource TEXT
);
CREATE INDEX smelt_audit_log_at ON smelt_audit_log (at);
