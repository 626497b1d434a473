DROP TABLE IF EXISTS sign_in_throttle;
DROP TABLE IF EXISTS auth_session;
