#include <stdio.h>

int main(void) {
    puts("hello from the multistage example");
    return 0;
}
