/* Preloaded into tritonserver (LD_PRELOAD) by lama_serve/triton/secret_shim.py.
 *
 * Triton takes its restricted-API key only as a command-line value, and every local user
 * can read /proc/PID/cmdline. So the command line carries a placeholder, the key travels in
 * the environment (/proc/PID/environ is readable by the owner only), and this constructor,
 * run before main(), swaps the key into Triton's argv copy on the heap. The variables are
 * then removed so that the backend stubs Triton spawns inherit neither.
 */
#include <stdlib.h>
#include <string.h>

static const char PLACEHOLDER[] = "@LAMA_TRITON_SECRET@";

static void substitute(int argc, char **argv, char **envp) {
    (void)envp;
    const char *secret = getenv("LAMA_TRITON_SECRET");
    if (secret == NULL) return;
    size_t placeholder_len = strlen(PLACEHOLDER), secret_len = strlen(secret);
    for (int i = 0; i < argc; i++) {
        char *at = strstr(argv[i], PLACEHOLDER);
        if (at == NULL) continue;
        size_t head = (size_t)(at - argv[i]), tail = strlen(at + placeholder_len);
        char *arg = malloc(head + secret_len + tail + 1);
        if (arg == NULL) abort();
        memcpy(arg, argv[i], head);
        memcpy(arg + head, secret, secret_len);
        memcpy(arg + head + secret_len, at + placeholder_len, tail + 1);
        argv[i] = arg;
    }
    unsetenv("LAMA_TRITON_SECRET");
    unsetenv("LD_PRELOAD");
}

__attribute__((section(".init_array"), used))
static void (*const lama_substitute)(int, char **, char **) = substitute;
