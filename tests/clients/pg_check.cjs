// npm pg (node-postgres) with the extended protocol: the catalog (schemas, tables, columns, the table's comment),
// parameters, a named prepared statement, rows as arrays.
// Usage: NODE_PATH=.tools/node_modules node pg_check.cjs CONNECTION_STRING SCHEMA TABLE
const { Client } = require('pg');

(async () => {
  const [url, schema, table] = process.argv.slice(2);
  const client = new Client({ connectionString: url });
  await client.connect();
  const schemas = await client.query('SELECT schema_name FROM information_schema.schemata ORDER BY 1');
  console.log('schemas:' + schemas.rows.map((r) => r.schema_name).join(','));
  const tables = await client.query('SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1', [schema]);
  console.log('tables:' + tables.rows.map((r) => r.table_name).join(','));
  const columns = await client.query(
    'SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position', [schema, table]);
  console.log('columns:' + columns.rows.map((r) => `${r.column_name} ${r.data_type}`).join(','));
  const comment = await client.query('SELECT obj_description($1::regclass, \'pg_class\') AS c', [`${schema}.${table}`]);
  console.log('comment:' + comment.rows[0].c);
  const text = `SELECT id, name, grp FROM ${schema}.${table} WHERE id BETWEEN $1 AND $2 ORDER BY id`;
  const plain = await client.query(text, [20, 22]);
  for (const row of plain.rows) console.log(`row:${row.id}:${row.name}:${row.grp}`);
  for (let i = 0; i < 2; i++) {
    const named = await client.query({ name: 'items', text, values: [30 + i, 30 + i], rowMode: 'array' });
    for (const row of named.rows) console.log(`named:${row.join(':')}`);
  }
  const types = await client.query('SELECT 1.50::numeric(5,2) AS n, true AS b, DATE \'2024-02-29\' AS d, NULL AS x');
  console.log('types:' + JSON.stringify(types.rows[0]) + ':' + types.fields.slice(0, 3).map((f) => f.dataTypeID).join(','));
  await client.end();
})().catch((e) => {
  console.error(`error:${e.code}:${e.message}`);
  process.exit(1);
});
