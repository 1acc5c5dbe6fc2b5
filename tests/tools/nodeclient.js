// nodeclient: the same steps as sqlclient, through Node.js and Debian's node-mysql (mysqljs), or
// with --driver mysql2 through mysql2 (from the npm registry, pinned in package-lock.json next to
// this file; `npm ci` here installs it). Both check every sequence id and do the authentication
// switch themselves.
//
//   node nodeclient.js [--driver mysql|mysql2] --port P [--host H] [--bind ADDR] --user U
//                      [--password PW] [--database DB] [--ssl [--ssl-cert PEM --ssl-key PEM]]
//                      STEP...
//   steps:  query SQL | change-user USER PASSWORD | ping
//
// Output as sqlclient's: "CONNECTED <thread id>", rows tab-separated with NULL as \N, "OK <n>"
// for statements without a result set, "CHANGED <user>", "PONG"; an error prints
// "ERROR <code> (<sqlstate>): <message>" and exits 1. A client-side error (no server error
// number, e.g. a protocol mistake the client noticed) prints "ERROR CLIENT <code>: <message>".
//
// mysqljs never sets CLIENT_PLUGIN_AUTH, yet answers an AuthSwitchRequest to mysql_native_password.
// mysql2 sets it, and CLIENT_QUERY_ATTRIBUTES, which MariaDB does not offer.
'use strict';
const net = require('net');
const path = require('path');

function parseArguments(argv) {
    const options = {host: '127.0.0.1', password: '', ssl: false};
    const valueOptions = {'--port': 'port', '--host': 'host', '--bind': 'bind', '--user': 'user',
                          '--password': 'password', '--database': 'database', '--driver': 'driver',
                          '--ssl-cert': 'sslCert', '--ssl-key': 'sslKey'};
    let i = 0;
    for (; i < argv.length && argv[i].startsWith('--'); ++i) {
        if (argv[i] === '--ssl') {
            options.ssl = true;
        } else if (argv[i] in valueOptions) {
            if (i + 1 >= argv.length) usage(`${argv[i]} needs a value`);
            options[valueOptions[argv[i]]] = argv[++i];
        } else {
            usage(`unknown option ${argv[i]}`);
        }
    }
    const arity = {'query': 1, 'change-user': 2, 'ping': 0};
    const steps = [];
    while (i < argv.length) {
        const name = argv[i++];
        if (!(name in arity)) usage(`unknown step ${name}`);
        if (i + arity[name] > argv.length) usage(`${name} needs ${arity[name]} argument(s)`);
        steps.push({name, args: argv.slice(i, i + arity[name])});
        i += arity[name];
    }
    if (!options.port || !options.user) usage('--port and --user are required');
    return {options, steps};
}

function usage(message) {
    process.stderr.write(`nodeclient: ${message}\n`);
    process.exit(2);
}

// Exits once everything written has reached stdout: process.exit() alone drops what a pipe has
// not taken yet (a result of a few hundred KB).
let exiting = false;
function exit(code) {
    exiting = true;
    process.stdout.write('', () => process.exit(code));
}

function fail(error) {
    if (error.errno) {
        // An ERR without an SQL state (one sent before the greeting) reads as HY000, as in
        // libmysqlclient.
        process.stdout.write(`ERROR ${error.errno} (${error.sqlState || 'HY000'}): ${error.sqlMessage}\n`);
    } else {
        process.stdout.write(`ERROR CLIENT ${error.code}: ${error.message}\n`);
    }
    exit(1);
}

function run(connection, steps) {
    if (exiting) return;  // a step failed: nothing more runs
    if (steps.length === 0) {
        connection.end((error) => (error ? fail(error) : exit(0)));
        return;
    }
    const [step, ...rest] = steps;
    const next = () => run(connection, rest);
    if (step.name === 'query') {
        // Streamed: one 'fields' event per result set, then one 'result' per row, or one 'result'
        // with an OK packet for a statement without a result set.
        let columns = [];
        connection.query(step.args[0])
            .on('error', fail)
            .on('fields', (fields) => { columns = fields; })
            .on('result', (result) => {
                if (['OkPacket', 'ResultSetHeader'].includes(result.constructor.name)) {
                    process.stdout.write(`OK ${result.affectedRows}\n`);
                    return;
                }
                // Rows are objects keyed by column name: queries here name their columns apart.
                const cells = columns.map((c) => (result[c.name] === null ? '\\N' : result[c.name]));
                process.stdout.write(cells.join('\t') + '\n');
            })
            .on('end', next);
    } else if (step.name === 'change-user') {
        const [user, password] = step.args;
        connection.changeUser({user, password}, (error) => {
            if (error) return fail(error);
            process.stdout.write(`CHANGED ${user}\n`);
            next();
        });
    } else {
        connection.ping((error) => {
            if (error) return fail(error);
            process.stdout.write('PONG\n');
            next();
        });
    }
}

const {options, steps} = parseArguments(process.argv.slice(2));
const mysql = options.driver === 'mysql2'
    ? require(path.join(__dirname, 'node_modules', 'mysql2'))
    : require('mysql');
if (options.bind) {
    // Neither has an option for the source address; their one TCP connection goes through here.
    const createConnection = net.createConnection;
    net.createConnection = net.connect =
        (port, host) => createConnection({port, host, localAddress: options.bind});
}
const connection = mysql.createConnection({
    host: options.host,
    port: Number(options.port),
    localAddress: options.bind,
    user: options.user,
    password: options.password,
    database: options.database,
    ssl: options.ssl ? {
        rejectUnauthorized: false,
        cert: options.sslCert ? require('fs').readFileSync(options.sslCert) : undefined,
        key: options.sslKey ? require('fs').readFileSync(options.sslKey) : undefined,
    } : undefined,
    flags: options.driver === 'mysql2' ? undefined : ['MULTI_STATEMENTS'],
    multipleStatements: true,
    connectTimeout: 30000,
    typeCast: (field) => field.string(),  // every value as the server sent it
});
connection.connect((error) => {
    if (error) return fail(error);
    process.stdout.write(`CONNECTED ${connection.threadId}\n`);
    run(connection, steps);
});
