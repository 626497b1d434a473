"""Regional party building (区域化党建): units, 共建协议, resources, 大党委 seats, map layers."""
