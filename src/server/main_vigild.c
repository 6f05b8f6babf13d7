/* main_vigild.c - placeholder until the server lands. */
#include <stdio.h>
int main(void)
{
    fputs("vigild: not built yet\n", stderr);
    return 1;
}
