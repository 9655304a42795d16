/* geoalarm-ingest: placeholder until the daemon lands. */
#include <stdio.h>

int main(void);

int
main(void)
{
	fprintf(stderr, "geoalarm-ingest: not built yet\n");
	return 1;
}
