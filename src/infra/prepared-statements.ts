/**
 * Named prepared statements for the statements that run for every event, transition and
 * webhook: PostgreSQL then parses and plans each text once per connection instead of on every
 * call. Their texts are long CTEs, and parsing and planning them cost PostgreSQL ~0.7 ms of CPU
 * a call here (`npm run bench`'s note; README, "Measured here"), more than a small write itself.
 *
 * The pool's clients are `PreparingClient`s (orm.ts); a text registered with `prepareStatement`
 * goes to the server under its name, every other text as before. Only constant texts may be
 * registered: each one stays prepared on every connection for the connection's life.
 * A registered statement must name the columns it returns (no `select *`, no `returning *`):
 * PostgreSQL re-plans a prepared statement after a migration on its own, but refuses one whose
 * result columns changed.
 */
import pg from 'pg';

/** Far more than the code has; a text built at run time would be a bug, and goes unnamed past this. */
const MAX_STATEMENTS = 100;
const names = new Map<string, string>();

/** `select *`, `t.*` or `returning *`: result columns that a migration can change. */
const ALL_COLUMNS = /(select|returning|,)\s*(\w+\.)?\*/i;

/** Registers a constant statement text; returns it unchanged. */
export function prepareStatement(sql: string): string {
  if (ALL_COLUMNS.test(sql)) throw new Error(`a prepared statement names the columns it returns: ${sql.trim().slice(0, 80)}`);
  if (!names.has(sql) && names.size < MAX_STATEMENTS) names.set(sql, `trialcast_${names.size + 1}`);
  return sql;
}

/** A pg client that sends registered texts as named statements (node-pg parses a name once per connection). */
export class PreparingClient extends pg.Client {
  override query(config: any, values?: any, callback?: any): any {
    const name = typeof config === 'string' ? names.get(config) : undefined;
    return super.query(name === undefined ? config : { name, text: config }, values, callback);
  }
}
