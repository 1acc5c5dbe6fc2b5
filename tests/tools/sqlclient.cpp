// sqlclient: a small libmysqlclient (MariaDB Connector/C) program for integration tests. It can
// bind its source address (MYSQL_OPT_BIND), use TLS, change user and run server-side prepared
// statements, which the mariadb CLI cannot.
//
//   sqlclient --port P [--host H] [--bind ADDR] --user U [--password PW] [--database DB]
//             [--ssl] [--local-infile] STEP...
//   steps:  query SQL | change-user USER PASSWORD | prepared SQL [PARAM...] |
//           cursor SQL [PARAM...] (rows through a server-side cursor) | ping |
//           fields TABLE (COM_FIELD_LIST) | stat (COM_STATISTICS) | reset (COM_RESET_CONNECTION)
//
// Rows are printed tab-separated, one per line; NULL as \N. An error prints
// "ERROR <code> (<sqlstate>): <message>" and exits 1.
#include <mysql.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

[[noreturn]] void fail(MYSQL* m) {
    std::printf("ERROR %u (%s): %s\n", mysql_errno(m), mysql_sqlstate(m), mysql_error(m));
    std::exit(1);
}

[[noreturn]] void fail(MYSQL_STMT* s) {
    std::printf("ERROR %u (%s): %s\n", mysql_stmt_errno(s), mysql_stmt_sqlstate(s),
                mysql_stmt_error(s));
    std::exit(1);
}

void print_results(MYSQL* m) {
    do {
        MYSQL_RES* res = mysql_store_result(m);
        if (res) {
            const unsigned columns = mysql_num_fields(res);
            while (MYSQL_ROW row = mysql_fetch_row(res)) {
                unsigned long* lengths = mysql_fetch_lengths(res);
                for (unsigned i = 0; i < columns; ++i) {
                    if (i) std::fputc('\t', stdout);
                    if (row[i])
                        std::fwrite(row[i], 1, lengths[i], stdout);
                    else
                        std::fputs("\\N", stdout);
                }
                std::fputc('\n', stdout);
            }
            mysql_free_result(res);
        } else if (mysql_field_count(m) != 0) {
            fail(m);
        } else {
            std::printf("OK %llu\n", static_cast<unsigned long long>(mysql_affected_rows(m)));
        }
        const int next = mysql_next_result(m);
        if (next > 0) fail(m);
        if (next < 0) break;
    } while (true);
}

// With `cursor`, the rows are read through a server-side cursor, two per COM_STMT_FETCH.
void prepared(MYSQL* m, const std::string& sql, const std::vector<std::string>& params,
              bool cursor = false) {
    MYSQL_STMT* s = mysql_stmt_init(m);
    if (cursor) {
        unsigned long type = CURSOR_TYPE_READ_ONLY, rows = 2;
        mysql_stmt_attr_set(s, STMT_ATTR_CURSOR_TYPE, &type);
        mysql_stmt_attr_set(s, STMT_ATTR_PREFETCH_ROWS, &rows);
    }
    if (mysql_stmt_prepare(s, sql.c_str(), sql.size())) fail(s);
    std::vector<MYSQL_BIND> in(params.size());
    std::vector<unsigned long> in_len(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
        std::memset(&in[i], 0, sizeof(MYSQL_BIND));
        in_len[i] = params[i].size();
        in[i].buffer_type = MYSQL_TYPE_STRING;
        in[i].buffer = const_cast<char*>(params[i].data());
        in[i].buffer_length = params[i].size();
        in[i].length = &in_len[i];
    }
    if (!params.empty() && mysql_stmt_bind_param(s, in.data())) fail(s);
    if (mysql_stmt_execute(s)) fail(s);
    MYSQL_RES* meta = mysql_stmt_result_metadata(s);
    if (!meta) {
        std::printf("OK %llu\n", static_cast<unsigned long long>(mysql_stmt_affected_rows(s)));
        mysql_stmt_close(s);
        return;
    }
    const unsigned columns = mysql_num_fields(meta);
    std::vector<MYSQL_BIND> out(columns);
    std::vector<std::vector<char>> buffers(columns, std::vector<char>(1 << 16));
    std::vector<unsigned long> lengths(columns);
    std::vector<my_bool> nulls(columns);
    for (unsigned i = 0; i < columns; ++i) {
        std::memset(&out[i], 0, sizeof(MYSQL_BIND));
        out[i].buffer_type = MYSQL_TYPE_STRING;
        out[i].buffer = buffers[i].data();
        out[i].buffer_length = buffers[i].size();
        out[i].length = &lengths[i];
        out[i].is_null = &nulls[i];
    }
    if (mysql_stmt_bind_result(s, out.data())) fail(s);
    for (;;) {
        const int r = mysql_stmt_fetch(s);
        if (r == MYSQL_NO_DATA) break;
        if (r == 1) fail(s);
        for (unsigned i = 0; i < columns; ++i) {
            if (i) std::fputc('\t', stdout);
            if (nulls[i])
                std::fputs("\\N", stdout);
            else
                std::fwrite(buffers[i].data(), 1,
                            std::min<unsigned long>(lengths[i], buffers[i].size()), stdout);
        }
        std::fputc('\n', stdout);
    }
    mysql_free_result(meta);
    mysql_stmt_close(s);
}

bool is_step(const std::string& word) {
    for (const char* step :
         {"query", "change-user", "prepared", "cursor", "ping", "fields", "stat", "reset"})
        if (word == step) return true;
    return false;
}

}  // namespace

int main(int argc, char** argv) {
    std::string host = "127.0.0.1", bind, user, password, database;
    unsigned port = 0;
    bool ssl = false, local_infile = false;
    int i = 1;
    for (; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--host")
            host = value();
        else if (a == "--port")
            port = static_cast<unsigned>(std::stoul(value()));
        else if (a == "--bind")
            bind = value();
        else if (a == "--user")
            user = value();
        else if (a == "--password")
            password = value();
        else if (a == "--database")
            database = value();
        else if (a == "--ssl")
            ssl = true;
        else if (a == "--local-infile")
            local_infile = true;
        else
            break;
    }

    MYSQL* m = mysql_init(nullptr);
    if (!bind.empty()) mysql_optionsv(m, MYSQL_OPT_BIND, bind.c_str());
    if (ssl) {
        my_bool enforce = 1;
        mysql_optionsv(m, MYSQL_OPT_SSL_ENFORCE, &enforce);
        my_bool verify = 0;
        mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
    }
    unsigned infile = local_infile ? 1 : 0;
    mysql_optionsv(m, MYSQL_OPT_LOCAL_INFILE, &infile);
    unsigned timeout = 30;
    mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &timeout);
    if (!mysql_real_connect(m, host.c_str(), user.c_str(), password.c_str(),
                            database.empty() ? nullptr : database.c_str(), port, nullptr,
                            CLIENT_MULTI_STATEMENTS))
        fail(m);
    std::printf("CONNECTED %lu\n", mysql_thread_id(m));
    std::fflush(stdout);

    while (i < argc) {
        const std::string step = argv[i++];
        auto arg = [&]() -> std::string {
            if (i >= argc) {
                std::fprintf(stderr, "%s needs an argument\n", step.c_str());
                std::exit(2);
            }
            return argv[i++];
        };
        if (step == "query") {
            const std::string sql = arg();
            if (mysql_real_query(m, sql.c_str(), sql.size())) fail(m);
            print_results(m);
        } else if (step == "change-user") {
            const std::string u = arg(), p = arg();
            if (mysql_change_user(m, u.c_str(), p.c_str(), nullptr)) fail(m);
            std::printf("CHANGED %s\n", u.c_str());
        } else if (step == "prepared" || step == "cursor") {
            const std::string sql = arg();
            std::vector<std::string> params;
            while (i < argc && !is_step(argv[i])) params.push_back(argv[i++]);
            prepared(m, sql, params, step == "cursor");
        } else if (step == "ping") {
            if (mysql_ping(m)) fail(m);
            std::printf("PONG\n");
        } else if (step == "fields") {
            const std::string table = arg();
            MYSQL_RES* res = mysql_list_fields(m, table.c_str(), nullptr);
            if (!res) fail(m);
            while (MYSQL_FIELD* f = mysql_fetch_field(res)) std::printf("FIELD %s\n", f->name);
            mysql_free_result(res);
        } else if (step == "stat") {
            if (!mysql_stat(m)) fail(m);
            std::printf("STAT\n");
        } else if (step == "reset") {
            if (mysql_reset_connection(m)) fail(m);
            std::printf("RESET\n");
        } else {
            std::fprintf(stderr, "unknown step %s\n", step.c_str());
            return 2;
        }
        std::fflush(stdout);
    }
    mysql_close(m);
    return 0;
}
