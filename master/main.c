/* master - placeholder entry point; replaced as the process is built. */
#include "config.h"

#include "log.h"

int main(void);

int
main(void)
{
	log_fatal("master: not built yet");
}
