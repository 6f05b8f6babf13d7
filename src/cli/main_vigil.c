/* main_vigil.c - placeholder until the command line lands. */
#include <stdio.h>
int main(void)
{
    fputs("vigil: not built yet\n", stderr);
    return 1;
}
