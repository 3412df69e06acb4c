/* bench_exec: a program that does nothing, built three ways by make bench:
 * with the C library only, with libmount (and what libmount itself needs:
 * libblkid, libselinux, libpcre2), and with every library the helpers link.
 * bench.sh times their exec to show what loading the libraries costs each
 * helper run, apart from anything the helper does. */
int main(void)
{
	return 0;
}
