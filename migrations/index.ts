/**
 * Every migration, oldest first. A new migration file is added here too: the list is explicit so
 * the compiled app, the CLI and the tests run exactly the same set.
 */
export const ALL_MIGRATIONS: Function[] = [];
