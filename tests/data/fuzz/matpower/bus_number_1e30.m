function mpc = x
mpc.version = '2';
mpc.baseMVA = 100;
mpc.bus = [
	1e30	3	0	0	0	0	1	1	0	345	1	1.1	0.9;
];
mpc.gen = [
	1	0	0	300	-300	1	100	1	250	10;
];
mpc.branch = [
	1	1	0	1	0	0	0	0	0	0	1	-360	360;
];
