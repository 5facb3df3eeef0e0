/** What a code is for; a code or token proven for one purpose never serves another. */
export const PURPOSES = ['registration', 'login', 'password_reset', 'two_factor'] as const;
export type Purpose = (typeof PURPOSES)[number];
