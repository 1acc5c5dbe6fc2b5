<?php
// phpclient: the same steps as sqlclient, through PHP's mysqli on mysqlnd, PHP's own
// implementation of the protocol (not libmysqlclient), which checks every sequence id.
//
//   php phpclient.php --port P [--host H] --user U [--password PW] [--database DB] [--ssl] STEP...
//   steps:  query SQL | change-user USER PASSWORD | ping
//
// Output as sqlclient's: "CONNECTED <thread id>", rows tab-separated with NULL as \N, "OK <n>"
// for statements without a result set, "CHANGED <user>", "PONG"; an error prints
// "ERROR <code> (<sqlstate>): <message>" and exits 1. mysqlnd cannot choose its source address,
// so there is no --bind: it connects from 127.0.0.1.

function usage(string $message): never {
    fwrite(STDERR, "phpclient: $message\n");
    exit(2);
}

$options = ['host' => '127.0.0.1', 'password' => '', 'database' => null, 'ssl' => false];
$value_options = ['--port' => 'port', '--host' => 'host', '--user' => 'user',
                  '--password' => 'password', '--database' => 'database'];
$args = array_slice($argv, 1);
$i = 0;
for (; $i < count($args) && str_starts_with($args[$i], '--'); ++$i) {
    if ($args[$i] === '--ssl') {
        $options['ssl'] = true;
    } elseif (isset($value_options[$args[$i]])) {
        if ($i + 1 >= count($args)) usage("{$args[$i]} needs a value");
        $options[$value_options[$args[$i]]] = $args[++$i];
    } else {
        usage("unknown option {$args[$i]}");
    }
}
$arity = ['query' => 1, 'change-user' => 2, 'ping' => 0];
$steps = [];
while ($i < count($args)) {
    $name = $args[$i++];
    if (!isset($arity[$name])) usage("unknown step $name");
    if ($i + $arity[$name] > count($args)) usage("$name needs {$arity[$name]} argument(s)");
    $steps[] = [$name, array_slice($args, $i, $arity[$name])];
    $i += $arity[$name];
}
if (!isset($options['port'], $options['user'])) usage('--port and --user are required');

mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);  // errors as mysqli_sql_exception
try {
    $m = mysqli_init();
    $m->options(MYSQLI_OPT_CONNECT_TIMEOUT, 30);
    $flags = 0;
    if ($options['ssl']) {
        $m->ssl_set(null, null, null, null, null);
        $flags |= MYSQLI_CLIENT_SSL | MYSQLI_CLIENT_SSL_DONT_VERIFY_SERVER_CERT;
    }
    $m->real_connect($options['host'], $options['user'], $options['password'],
                     $options['database'], (int)$options['port'], null, $flags);
    echo "CONNECTED {$m->thread_id}\n";

    foreach ($steps as [$name, $step_args]) {
        if ($name === 'query') {
            $m->multi_query($step_args[0]);
            do {
                $result = $m->store_result();
                if ($result) {
                    while ($row = $result->fetch_row()) {
                        echo implode("\t", array_map(fn($v) => $v === null ? '\\N' : $v, $row)), "\n";
                    }
                    $result->free();
                } else {
                    echo "OK {$m->affected_rows}\n";
                }
            } while ($m->more_results() && $m->next_result());
        } elseif ($name === 'change-user') {
            $m->change_user($step_args[0], $step_args[1], null);
            echo "CHANGED {$step_args[0]}\n";
        } else {
            $m->ping();
            echo "PONG\n";
        }
    }
    $m->close();
} catch (mysqli_sql_exception $e) {
    echo "ERROR {$e->getCode()} ({$e->getSqlState()}): {$e->getMessage()}\n";
    exit(1);
}
