function mpc = x
mpc.version = '2';
mpc.baseMVA = 100;
mpc.bus = [
	1	3	0	0
