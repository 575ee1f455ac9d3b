// Writes a small Parquet file with hyparquet-writer (a JavaScript Parquet implementation: not DuckDB, not Caudal),
// so the file source is tested on a file written by another tool. usage: node write_parquet.mjs OUT.parquet
import { parquetWriteFile } from 'hyparquet-writer'

parquetWriteFile({
  filename: process.argv[2],
  columnData: [
    { name: 'id', data: new Int32Array([1, 2, 3]), type: 'INT32' },
    { name: 'name', data: ['Réunion', 'Yugoslavia', null], type: 'STRING' },
    { name: 'score', data: new Float64Array([1.5, 2.25, -3]), type: 'DOUBLE' },
    { name: 'active', data: [true, false, true], type: 'BOOLEAN' },
  ],
})
