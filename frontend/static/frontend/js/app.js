// Entry module loaded by the base template on every page for a logged-in
// user. Filled in by the realtime client (stream.js) and notifications.
export {};
