/* authd - placeholder entry point; replaced as the process is built. */
#include "config.h"

#include "log.h"

int main(void);

int
main(void)
{
	log_fatal("authd: not built yet");
}
