// Runs the symgrad executable as a user would, capturing its exit status, stdout and stderr.
#pragma once

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace symgrad::testing {

struct CliResult {
    int status = -1;
    std::string out;
    std::string err;
};

inline std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

// How the program is run, beyond its arguments.
struct CliEnv {
    std::string input;  // its stdin
    const char* path = nullptr;  // replaces the PATH it sees (to test what happens without a helper program)
    const char* stdout_to = nullptr;  // a file its stdout goes to instead of being captured (e.g. "/dev/full")
    long file_size_limit = -1;  // RLIMIT_FSIZE in bytes (SIGXFSZ ignored): a disk that fills up
    long address_space_limit = -1;  // RLIMIT_AS in bytes: a machine with little memory (not under ASan)
    std::vector<std::pair<std::string, std::string>> variables;  // environment variables set for it
};

inline CliResult run_cli_with(const std::vector<std::string>& args, const CliEnv& env) {
    char dir_template[] = "/tmp/symgrad_cli_XXXXXX";
    const std::string dir = mkdtemp(dir_template);
    const std::string in_path = dir + "/in";
    const std::string out_path = dir + "/out";
    const std::string err_path = dir + "/err";
    std::ofstream(in_path, std::ios::binary) << env.input;
    const pid_t pid = fork();
    if (pid == 0) {
        const int in = open(in_path.c_str(), O_RDONLY);
        const int out = open(env.stdout_to != nullptr ? env.stdout_to : out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        std::vector<char*> argv;
        std::string program = SYMGRAD_CLI_PATH;
        argv.push_back(program.data());
        std::vector<std::string> copies = args;
        for (auto& a : copies) argv.push_back(a.data());
        argv.push_back(nullptr);
        if (env.path != nullptr) setenv("PATH", env.path, 1);
        for (const auto& [name, value] : env.variables) setenv(name.c_str(), value.c_str(), 1);
        if (env.file_size_limit >= 0) {
            signal(SIGXFSZ, SIG_IGN);  // a write past the limit then fails with EFBIG instead of killing
            const rlimit limit{static_cast<rlim_t>(env.file_size_limit), static_cast<rlim_t>(env.file_size_limit)};
            setrlimit(RLIMIT_FSIZE, &limit);
        }
        if (env.address_space_limit >= 0) {
            const rlimit limit{static_cast<rlim_t>(env.address_space_limit), static_cast<rlim_t>(env.address_space_limit)};
            setrlimit(RLIMIT_AS, &limit);
        }
        execv(program.c_str(), argv.data());
        _exit(127);
    }
    int raw = 0;
    waitpid(pid, &raw, 0);
    CliResult result;
    result.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
    result.out = slurp(out_path);
    result.err = slurp(err_path);
    std::remove(in_path.c_str());
    std::remove(out_path.c_str());
    std::remove(err_path.c_str());
    rmdir(dir.c_str());
    return result;
}

inline CliResult run_cli(const std::vector<std::string>& args, const std::string& input = "", const char* path = nullptr) {
    CliEnv env;
    env.input = input;
    env.path = path;
    return run_cli_with(args, env);
}

}  // namespace symgrad::testing
