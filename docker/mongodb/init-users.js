// Runs once, when the mongodb container initialises an empty data volume (/docker-entrypoint-initdb.d,
// executed by mongosh as the root user): create the pipeline's publishing user (readWrite on the gold
// database only: insert, index, rename the staging collections) and a read-only user for Metabase and
// other readers. Names and passwords come from the container's environment (.env).
const required = ["MONGO_DATABASE", "MONGO_APP_USER", "MONGO_APP_PASSWORD", "MONGO_READER_USER", "MONGO_READER_PASSWORD"];
for (const name of required) {
  if (!process.env[name]) {
    throw new Error(`init-users.js: ${name} is not set (see .env.example)`);
  }
}
const admin = db.getSiblingDB("admin");
admin.createUser({
  user: process.env.MONGO_APP_USER,
  pwd: process.env.MONGO_APP_PASSWORD,
  roles: [{ role: "readWrite", db: process.env.MONGO_DATABASE }],
});
admin.createUser({
  user: process.env.MONGO_READER_USER,
  pwd: process.env.MONGO_READER_PASSWORD,
  roles: [{ role: "read", db: process.env.MONGO_DATABASE }],
});
print(`init-users.js: users ${process.env.MONGO_APP_USER} (readWrite) and ${process.env.MONGO_READER_USER} (read) on ${process.env.MONGO_DATABASE}`);
