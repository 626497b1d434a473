"""Party members (党员) and the organisation chain they belong to: the vocabulary, the member
register (list, profile, 组织关系转接, 流动党员, care) and learning records (学习教育)."""
